"""Who is covered: population rasters read by window and exact area-weighted sums."""
