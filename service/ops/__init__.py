"""Running the service: background jobs, metrics, logs, migrations and the demo desk."""
