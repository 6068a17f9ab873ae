"""Optional bridges to other engines (Ray for bulk tagging); the core never imports them."""
