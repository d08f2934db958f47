"""Synthetic registry photos for demo students: a plain drawn avatar, never a real person."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw
from sqlalchemy import update

from portal.evidence import storage
from portal.evidence.photo import MIN_HEIGHT, MIN_WIDTH
from portal.extensions import db
from portal.registry.models import Student

# ID photos in China are taken on blue, white or red.
BACKDROPS = ((67, 142, 219), (245, 245, 245), (200, 40, 45))
UNIFORMS = ((32, 58, 120), (30, 110, 70), (150, 30, 40), (60, 60, 60))
HAIR = ((25, 20, 18), (45, 32, 25), (60, 45, 35))
SKIN = ((236, 200, 170), (225, 185, 150), (240, 210, 185))


def draw_avatar(rng: random.Random, size=(MIN_WIDTH, MIN_HEIGHT)) -> bytes:
    """A JPEG of a drawn head and shoulders in registry-photo proportions (drawn at the
    usual 358 × 441 px, then scaled to `size`)."""
    width, height = MIN_WIDTH, MIN_HEIGHT
    image = Image.new("RGB", (width, height), rng.choice(BACKDROPS))
    draw = ImageDraw.Draw(image)
    centre = width // 2
    draw.ellipse((centre - 170, height - 150, centre + 170, height + 150), fill=rng.choice(UNIFORMS))
    draw.rectangle((centre - 28, height - 200, centre + 28, height - 140), fill=rng.choice(SKIN))
    head = (centre - 90, 90, centre + 90, 320)
    draw.ellipse((head[0] - 8, head[1] - 14, head[2] + 8, head[1] + 150), fill=rng.choice(HAIR))
    draw.ellipse(head, fill=rng.choice(SKIN))
    for eye in (centre - 38, centre + 38):
        draw.ellipse((eye - 8, 190, eye + 8, 206), fill=(40, 30, 30))
    draw.arc((centre - 30, 230, centre + 30, 270), start=20, end=160, fill=(150, 70, 70), width=4)
    if size != (width, height):
        image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()


def add_demo_photos(rng: random.Random, student_ids) -> int:
    """Give each of `student_ids` a drawn photo; returns how many were given."""
    count = 0
    for student_id in student_ids:
        digest = storage.put(draw_avatar(rng), db.session)
        db.session.execute(update(Student).where(Student.id == student_id).values(photo_sha256=digest))
        count += 1
    return count
