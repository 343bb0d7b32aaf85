"""The resident social layer: places, members, posts, alarms and the visibility rule."""
