"""Who lives where: assignments of students to beds, with full history."""
