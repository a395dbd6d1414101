"""Coverage jobs end to end: region folders, the synthetic demo region, the job and its outputs."""
