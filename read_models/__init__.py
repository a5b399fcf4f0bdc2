"""The read side: queries and projections behind the agent timeline and the channels' reads."""
