"""Shared fixtures. The virtual-device fixtures (private adb server + devices) come from the
virtual_device pytest plugin, so tests never touch a user's adb server on 5037."""

pytest_plugins = ["virtual_device.pytest_plugin"]
