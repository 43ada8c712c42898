"""Leaderboard tables from run directories: LaTeX (booktabs), Markdown, CSV, JSON."""

from stfbench.leaderboard.render import FORMATS, render
from stfbench.leaderboard.table import Leaderboard, build_leaderboard

__all__ = ["FORMATS", "Leaderboard", "build_leaderboard", "render"]
