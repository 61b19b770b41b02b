"""Every renderer, for people: the live terminal view and tables (``terminal``), markdown and HTML reports,
plots, and the comparison and procurement outputs. Analyses produce values; this package words them."""
