"""The CSV/XLSX files exporters keep: reading them row by row
(:mod:`.reading`), importing master data (:mod:`.imports`) and writing
tables that never run a formula (:mod:`.exports`).
"""
