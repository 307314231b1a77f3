"""mediagen: one API for generating images, video and audio across vendors."""
