"""The `drg-eligibility` command groups (audit, serve and users, batch, report) and what they share.

The top of the house: a command may import any package below it; nothing below imports a command.
The root command (`eligibility.cli`) registers these groups.
"""
