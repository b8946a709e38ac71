"""Selection day (网上选宿): students choose their own beds online, in time windows (README "Selection day")."""
