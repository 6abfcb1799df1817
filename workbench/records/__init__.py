"""Master data: parties, items, shipments, licences and evidence files, with
their consistency rules, the browse queries the tables page through, value
parsing (countries, dates, money) and the write pattern records share.
"""
