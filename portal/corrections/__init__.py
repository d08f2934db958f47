"""Corrections of a child's registry details (信息更正): proposed with evidence, decided field by field."""
