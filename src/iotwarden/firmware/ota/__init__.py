"""Over-the-air update campaigns: staged rollout rules and health gates (:mod:`.rollout`), the campaign
service over the store (:mod:`.service`) and the reference device client (:mod:`.client`)."""
