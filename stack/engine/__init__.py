"""The Docker side of the compose backend: which engine answers, the Compose binary, stand-in images."""
