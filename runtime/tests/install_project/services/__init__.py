"""This project's own services package: the name the pet service's package has too, on purpose."""
