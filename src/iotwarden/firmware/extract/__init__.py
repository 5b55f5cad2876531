"""Unpacking firmware images: unblob finds which container sits where (:mod:`.carving`, with our own
unblob handlers in :mod:`.handlers`), one sandboxed extractor per format calls well-kept tools or the
standard library (:mod:`.streams`, :mod:`.archives`, :mod:`.filesystems`), and the recursive driver
keeps every unpacked file inside the sandbox (:mod:`.driver`)."""
