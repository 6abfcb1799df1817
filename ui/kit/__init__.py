"""What every screen is built from: the background-operation helper
(:mod:`.ops`), table models over SQL and over rows (:mod:`.models`), views,
headings and banners (:mod:`.views`), input widgets (:mod:`.widgets`), the
record form (:mod:`.forms`), charts, the style, and the HTML the pages show
for screening hits and rules (:mod:`.screening_html`, :mod:`.rules_html`).

The lowest layer of the UI: it imports the core and Qt, never a page,
panel or dialog.
"""
