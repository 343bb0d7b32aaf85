"""The gateway process: MQTT intake, the pipeline, the HTTP API and their lifecycle."""
