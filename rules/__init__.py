"""The rules engine: what the building senses becomes alarms and posts."""
