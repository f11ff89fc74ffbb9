"""Security settings and guards shared by the channel, the action server and the desk."""
