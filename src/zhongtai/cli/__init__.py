"""The `zhongtai` command: one thin module per noun, all sharing output.py and one error handler."""
