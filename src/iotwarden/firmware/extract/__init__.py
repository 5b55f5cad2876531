"""Unpacking firmware images: format identification by magic (:mod:`.formats`), one extractor per
format calling well-kept tools or the standard library (:mod:`.streams`, :mod:`.archives`,
:mod:`.filesystems`) and the recursive driver that keeps every unpacked file inside the sandbox
(:mod:`.driver`)."""
