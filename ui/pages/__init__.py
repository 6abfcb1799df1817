"""The pages of the navigation list: dashboard, the master-data lists
(parties, items, shipments, licences), lists, screening, rules, checklists,
audit log."""
