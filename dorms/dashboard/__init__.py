"""The start page: occupancy at a glance for staff, a summary for counselors."""
