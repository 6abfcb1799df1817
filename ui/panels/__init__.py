"""Panels that follow the selected record inside a page: clearance,
classification, determination, party rule facts, a checklist run.

Above dialogs and the kit, below the pages that hold them."""
