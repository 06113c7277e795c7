"""Every report of a run: the console (`console.py`), JUnit XML, JSON, HTML, Markdown and the
coverage gate. The format modules render text; `writer.py` writes every file, for both front
ends."""
