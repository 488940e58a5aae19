"""What readers and publishers see without a token: badges, claim pages, oEmbed, the feed."""
