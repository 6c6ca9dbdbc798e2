"""argosneo live GUI (optional extra ``argosneo[gui]``: PySide6 + pyqtgraph).

``gui.worker`` runs the receiver in a thread and needs no Qt; ``gui.app`` and ``gui.widgets``
are the Qt window. The core package ``argosneo`` never imports this package except lazily from
``argosneo gui``.
"""
