from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from collector.config import InfluxConfig
from collector.writer import RejectedWrite, TooLarge, TransientWrite, V1Writer, V2Writer
from tests.collector.harness import create_db, influxql
from tests.support.procs import free_port

LINE = b"probe,area=A01 v=1.5 1772323200000000000\n"


@pytest.fixture
def status_server():
    """An HTTP endpoint that answers every write with a chosen status (what a proxy or overloaded
    server does; real InfluxDB cannot be made to return 429/413 on demand)."""
    state = {"status": 204, "headers": {}, "bodies": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            state["bodies"].append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(state["status"])
            for k, v in state["headers"].items():
                self.send_header(k, v)
            body = b'{"code":"x","message":"refused"}'
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{srv.server_address[1]}"
    yield state
    srv.shutdown()


def _writers(url):
    return [V1Writer(InfluxConfig(url=url, api="v1")), V2Writer(InfluxConfig(url=url, api="v2"))]


@pytest.mark.parametrize(("status", "error"), [(400, RejectedWrite), (422, RejectedWrite), (413, TooLarge),
                                               (429, TransientWrite), (500, TransientWrite),
                                               (503, TransientWrite), (401, TransientWrite),
                                               (404, TransientWrite)])
def test_http_status_is_classified_the_same_by_both_writers(status_server, status, error):
    status_server["status"] = status
    status_server["headers"] = {"Retry-After": "7"} if status == 429 else {}
    for w in _writers(status_server["url"]):
        with pytest.raises(error) as e:
            w.write(LINE)
        assert e.type is error and e.value.status == status
        if status == 429:
            assert e.value.retry_after_s == 7.0
        w.close()
    assert status_server["bodies"] == [LINE, LINE]  # identical line protocol from both modes


@pytest.mark.parametrize("status", [200, 204])
def test_both_writers_succeed_on_2xx_and_send_the_lines_once(status_server, status):
    status_server["status"] = status
    for w in _writers(status_server["url"]):
        assert w.write(LINE) is None                  # no exception, nothing to retry
        w.close()
    assert status_server["bodies"] == [LINE, LINE]    # each writer sent the batch exactly once


def test_server_not_listening_is_transient():
    url = f"http://127.0.0.1:{free_port()}"
    for w in _writers(url):
        with pytest.raises(TransientWrite):
            w.write(LINE)
        w.close()


@pytest.mark.integration
def test_v1_writer_against_influxdb_1_6_writes_and_reports_type_conflicts_as_rejected(influx1):
    w = V1Writer(InfluxConfig(url=influx1.url, api="v1", database="meterwatch"))
    with pytest.raises(TransientWrite) as e:  # database missing: a configuration fault, retried
        w.write(LINE)
    assert e.value.status == 404
    create_db(influx1.url)
    w.write(LINE)
    rows = influxql(influx1.url, 'SELECT "v" FROM "probe"')["results"][0]["series"][0]["values"]
    assert rows == [[1772323200000000000, 1.5]]
    with pytest.raises(RejectedWrite, match="conflict"):
        w.write(b'probe,area=A01 v="text" 1772323300000000000\n')
    w.close()


@pytest.mark.integration
def test_v2_writer_against_victoria_metrics(victoria):
    from tests.collector.harness import vm_series

    w = V2Writer(InfluxConfig(url=victoria.url))
    w.write(LINE)
    w.close()
    assert vm_series(victoria.url)[("probe_v", (("area", "A01"),))] == {1772323200000: 1.5}
