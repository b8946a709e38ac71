"""Students, academic terms and counselors' responsibilities."""
