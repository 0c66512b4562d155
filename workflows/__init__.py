"""State machines for submissions: states, transitions, guards and history.
A library: it never imports `portal`."""
