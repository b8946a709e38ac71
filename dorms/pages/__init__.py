"""Pages that read several features: the dashboard, the room page, the student list and page, the audit log.

They only read; their forms post to the features' own views. The room page and the student pages add their
routes to the campus and students blueprints, so their endpoints (campus.room, students.detail…) stay."""
