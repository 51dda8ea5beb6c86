"""Trade journal: broker executions -> round trips (FIFO/LIFO/average cost)."""
