"""The HTTP server: OpenAI-compatible embeddings and chat, plus search, ask and classify (``latentstack serve --http``).

FastAPI and uvicorn load only when a server starts (``pip install 'latentstack[serve]'``).
"""
