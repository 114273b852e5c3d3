"""The host's toolchain: the compiler from tiles to command lists and buffer images, the
interpreter that runs them on the golden functions, and reports of their dimensions."""
