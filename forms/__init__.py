"""Form definitions: field types, the expression language, colander/deform builders and
XLSForm in and out. A library: it never imports `portal`."""
