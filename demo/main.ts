// Placeholder replaced below in this session.
console.log('sluice demo');
