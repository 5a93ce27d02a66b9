"""The HTTP gateway: thin FastAPI front of the capability runtime."""
