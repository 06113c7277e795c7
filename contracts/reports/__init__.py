"""Every report of a run: the console, JUnit XML, JSON, HTML, Markdown and the coverage gate."""
