"""Field simulator: simulated meter bus, simulated TTU, and a physically consistent transformer area."""
