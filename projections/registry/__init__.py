"""The registry projection: registered models, versions, their tags and aliases."""
