"""The device registry: which device, where in the building, which points, online or not."""
