"""The controlled-substance ledger's rules, pure Python (controlled-substances.md §3-§7)."""
