"""Tools for the translations (for developers; the app does not use them): find every
message in the code, and keep the catalogues under cnnviz/locale in step with it.
Run `python -m cnnviz.i18n_tools --help`."""
