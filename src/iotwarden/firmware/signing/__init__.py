"""Firmware signing and integrity: SUIT manifests (draft-ietf-suit-manifest) signed with COSE_Sign1
(:mod:`.suit`, :mod:`.cose`), keys (:mod:`.keys`), the verification workflow (:mod:`.verify`) and the
golden-hash registry per model and version (:mod:`.golden`)."""
