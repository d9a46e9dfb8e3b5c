"""``meterwatch demo``: the whole pipeline on a simulated area, no services to install."""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", help="publish to this MQTT broker (mqtt://host:port) instead of an embedded one")
    p.add_argument("--influx-url", help="also run the collector and write into this InfluxDB (e.g. http://127.0.0.1:8086)")
    p.add_argument("--influx-api", default="v1", choices=("v1", "v2"),
                   help="v1: POST /write to database 'meterwatch' (InfluxDB 1.x, VictoriaMetrics); v2: InfluxDB 2.x")
    p.add_argument("--alertmanager", metavar="URL",
                   help="also send the alerts to this Prometheus Alertmanager (e.g. http://127.0.0.1:9093); docs/alerting.md")
    p.add_argument("--speed", type=float, default=60.0, help="simulated time per wall second (default 60)")
    p.add_argument("--view", default="auto", choices=("auto", "live", "lines"),
                   help="live: redraw the terminal; lines: print events (default: live on a terminal)")
    p.add_argument("--workdir", help="keep the field config, state and logs here (default: a temp directory)")
    p.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                   help="what goes into <workdir>/demo.log (the screen only shows a pane of recent warnings)")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from edge.demo import DemoOptions, run_demo

    if not 1 <= args.speed <= 600:
        print("meterwatch demo: --speed must be within 1..600 (wire timing is real; faster overruns the bus)",
              file=sys.stderr)
        return 2
    if args.alertmanager and not args.alertmanager.startswith(("http://", "https://")):
        print(f"meterwatch demo: --alertmanager {args.alertmanager!r} is not an http(s):// URL", file=sys.stderr)
        return 2
    opts = DemoOptions(broker=args.broker, influx_url=args.influx_url, influx_api=args.influx_api,
                       speed=args.speed, view=args.view, workdir=args.workdir, alertmanager=args.alertmanager,
                       log_level=args.log_level)
    return asyncio.run(run_demo(opts))
