"""Summaries of investigations in pt-BR: Groq rewrites the detection template, or the template stands.

Use :meth:`SummaryWriter.from_settings` once per process and :meth:`SummaryWriter.write` per
investigation; the returned :class:`Summary` carries the text and who wrote it.
"""

from shared.llm.groq import GroqChat, GroqUnavailable
from shared.llm.writer import TEMPLATE_SOURCE, Summary, SummaryWriter

__all__ = ["TEMPLATE_SOURCE", "GroqChat", "GroqUnavailable", "Summary", "SummaryWriter"]
