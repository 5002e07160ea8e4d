/* capabilities.c - placeholder until the API layer lands. */
