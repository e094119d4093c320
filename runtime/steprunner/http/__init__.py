"""The HTTP side: API step routes, the guards in front of them, and the uvicorn server."""
